/**
 * A control-plane member's own report of when its kubeadm certificates expire: two attributes of
 * its member item (`member#<instanceId>`), written by `kboot rotate` on that member. One
 * conditional UpdateItem: only an item that exists (a member that left is not brought back), and
 * only with a check at least as recent as the one stored (two runs racing keep the newer).
 */

import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type {
  MemberCertificatesRecorder,
  MemberCertificatesStamp,
} from '../../domain/state/cluster-store.js';
import { allOf, anyOf, expression, expressionParams, update } from './dynamodb-expressions.js';
import { clusterPk, isConditionFailed, memberSk, PK, rethrowDynamo, SK } from './dynamodb-items.js';

const clauses = {
  exists: () => expression('attribute_exists(#pk)', { '#pk': PK }),
  neverChecked: () =>
    expression('attribute_not_exists(#checkedAt)', { '#checkedAt': 'certificatesCheckedAt' }),
  checkedNoLaterThan: (at: string) =>
    expression('#checkedAt <= :checkedAt', { '#checkedAt': 'certificatesCheckedAt' }, { ':checkedAt': at }),
};

export class DynamoDbMemberCertificates implements MemberCertificatesRecorder {
  readonly #dynamodb: DynamoDBClient;
  readonly #tableName: string;

  constructor(settings: { dynamodb: DynamoDBClient; tableName: string }) {
    this.#dynamodb = settings.dynamodb;
    this.#tableName = settings.tableName;
  }

  async recordCertificates(
    cluster: string,
    instanceId: string,
    stamp: MemberCertificatesStamp,
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      await this.#dynamodb.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: marshall({ [PK]: clusterPk(cluster), [SK]: memberSk(instanceId) }),
          ...expressionParams({
            condition: allOf(
              clauses.exists(),
              anyOf(clauses.neverChecked(), clauses.checkedNoLaterThan(stamp.certificatesCheckedAt)),
            ),
            update: update({
              set: [
                expression(
                  '#expireAt = :expireAt',
                  { '#expireAt': 'certificatesExpireAt' },
                  { ':expireAt': stamp.certificatesExpireAt },
                ),
                expression(
                  '#checkedAt = :checkedAt',
                  { '#checkedAt': 'certificatesCheckedAt' },
                  { ':checkedAt': stamp.certificatesCheckedAt },
                ),
              ],
            }),
          }),
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      // The member left (no item), or a later check is already recorded: nothing to write.
      if (isConditionFailed(error)) return;
      rethrowDynamo(error, {
        table: this.#tableName,
        doing: `recording the certificate expiry of member ${instanceId} of cluster "${cluster}"`,
        permission: 'dynamodb:UpdateItem',
        ...(signal === undefined ? {} : { signal }),
      });
    }
  }
}
