/**
 * What kboot asks of the EC2 instance metadata service (IMDSv2), as a port of three methods:
 * the flows and the identity resolver depend on this, never on HTTP. `HttpImds` (the IMDS
 * adapter, http-imds.ts) implements it; `fakeImds` (fake.ts beside it) stands in for it in unit
 * tests. Typed readers that need nothing but `get` (private DNS name, MAC, lifecycle
 * state, spot action) are functions over the port (imds-readers.ts).
 */

/**
 * Who this instance is, from the instance identity document alone: one GET (plus the token PUT
 * when there is no fresh token). The private DNS name and the MAC are separate reads
 * (readers.ts: `privateDnsName`, `primaryMac`), paid only by flows that need them, so a worker's
 * identity with IMDS tags fits in 5 requests: token, document, tag listing, cluster and role values.
 */
export interface InstanceIdentity {
  instanceId: string;
  region: string;
  availabilityZone: string;
  privateIpv4: string;
  accountId: string;
  instanceType: string;
  imageId: string;
  architecture: string;
  /** When the instance launched (the document's pendingTime), when IMDS says. */
  launchedAtMs?: number;
}

/**
 * Every tag key of the instance (instance metadata tags), with its value where it was read.
 * A key whose value was not asked for maps to `undefined`.
 */
export type InstanceTags = Record<string, string | undefined>;

export interface InstanceTagsOptions {
  /**
   * Chooses, from the listed keys, the ones whose values to read: each value costs one request.
   * Default: every key. Keys that are not listed are never requested.
   */
  valuesOf?: (keys: readonly string[]) => readonly string[];
}

export interface Imds {
  /**
   * The text at a metadata path, or undefined when IMDS answers 404. A relative path is under
   * /latest/meta-data/ ("instance-id", "placement/region"); an absolute one starts with /latest/.
   */
  get(path: string): Promise<string | undefined>;
  instanceIdentity(): Promise<InstanceIdentity>;
  /** Undefined when instance metadata tags are disabled on the instance (IMDS answers 404). */
  instanceTags(options?: InstanceTagsOptions): Promise<InstanceTags | undefined>;
}
