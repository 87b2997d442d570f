/**
 * How error messages and findings name each input. The CLI passes its flag names (the default);
 * another caller, such as a config-file check, passes its own field names.
 */

export interface CidrInputNames {
  vpc: string;
  azs: string;
  pod: string;
  service: string;
  subnet: string;
  podsInVpc: string;
}

export const CIDR_FLAG_NAMES: CidrInputNames = {
  vpc: '--vpc-cidr',
  azs: '--azs',
  pod: '--pod-cidr',
  service: '--service-cidr',
  subnet: '--subnet',
  podsInVpc: '--pods-in-vpc',
};
