import type { EC2Client } from '@aws-sdk/client-ec2';
import { AwsDeniedError } from '../../core/errors.js';
import { classifyAwsError } from './errors.js';

/**
 * The instance's own tags through one `ec2:DescribeTags` call filtered on its id: the fallback
 * when instance metadata tags are disabled on the launch template.
 */
export async function describeInstanceTags(
  ec2: EC2Client,
  instanceId: string,
): Promise<Record<string, string>> {
  // Loaded here, not at the top: the EC2 client's model is large, and only this fallback needs it.
  const { DescribeTagsCommand } = await import('@aws-sdk/client-ec2');
  try {
    const response = await ec2.send(
      new DescribeTagsCommand({
        Filters: [
          { Name: 'resource-id', Values: [instanceId] },
          { Name: 'resource-type', Values: ['instance'] },
        ],
        MaxResults: 1000,
      }),
    );
    return Object.fromEntries((response.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
  } catch (error) {
    const classified = classifyAwsError(error, `reading the tags of ${instanceId} (ec2:DescribeTags)`);
    if (classified instanceof AwsDeniedError) {
      throw new AwsDeniedError(classified.message, {
        cause: error,
        hint:
          'instance metadata tags are disabled, so kboot needs ec2:DescribeTags: grant it to the instance role, ' +
          'or enable instance metadata tags in the launch template (MetadataOptions.InstanceMetadataTags=enabled)',
      });
    }
    throw classified ?? error;
  }
}
