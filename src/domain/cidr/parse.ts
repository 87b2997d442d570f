/**
 * Reading user input: a CIDR string into an `Ipv4Cidr`, an AZ count into a number. Every
 * refusal is a UsageError that names the input and its value and says what to write instead.
 */

import { IPv4, Validator } from 'ip-num';
import { UsageError } from '../../core/errors.js';
import { Ipv4Cidr } from './ipv4-cidr.js';
import { AZ_COUNT } from './limits.js';

const EXAMPLE = '10.0.0.0/16';

function notACidr(name: string, text: string, reason: string): UsageError {
  return new UsageError(`${name} "${text}" is not an IPv4 CIDR: ${reason}`, {
    hint: `write it as address/prefix, e.g. ${name} ${EXAMPLE}`,
  });
}

/**
 * Parses `text` (surrounding spaces ignored) as an IPv4 network in CIDR notation. `name` is
 * what the message calls the input, e.g. "--vpc-cidr".
 */
export function parseCidr(text: string, name: string): Ipv4Cidr {
  const trimmed = text.trim();
  if (trimmed === '') {
    throw new UsageError(`${name} is empty`, { hint: `give an IPv4 range, e.g. ${name} ${EXAMPLE}` });
  }
  if (trimmed.includes(':')) {
    throw new UsageError(`${name} ${trimmed} is an IPv6 range; kboot supports IPv4 only`, {
      hint: `give an IPv4 range, e.g. ${name} ${EXAMPLE} (IPv6 and dual-stack clusters are not supported)`,
    });
  }
  const [address = '', prefixText, ...rest] = trimmed.split('/');
  const addressOk = Validator.isValidIPv4String(address)[0];
  if (prefixText === undefined) {
    if (addressOk) {
      throw new UsageError(`${name} ${trimmed} has no prefix length`, {
        hint: `add one, e.g. ${name} ${trimmed}/16`,
      });
    }
    throw notACidr(name, trimmed, 'expected an address and a prefix length separated by "/"');
  }
  if (rest.length > 0) throw notACidr(name, trimmed, 'it has more than one "/"');
  if (!addressOk) {
    throw notACidr(name, trimmed, 'the address must be four numbers from 0 to 255, like 10.0.0.0');
  }
  if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    throw notACidr(name, trimmed, 'the prefix length must be a number from 0 to 32');
  }
  if (!Validator.isValidIPv4CidrNotation(trimmed)[0]) throw notACidr(name, trimmed, 'not address/prefix');

  const prefix = Number(prefixText);
  const value = IPv4.fromDecimalDottedString(address).getValue();
  const network = value - (value % 2n ** BigInt(32 - prefix));
  const cidr = Ipv4Cidr.of(network, prefix);
  if (value !== network) {
    throw new UsageError(
      `${name} ${trimmed} is a host address, not a network address (did you mean ${cidr.toString()}?)`,
      { hint: `pass ${name} ${cidr.toString()}` },
    );
  }
  return cidr;
}

/** Parses the number of availability zones: a whole number from 1 to 6. */
export function parseAzCount(value: string | number, name: string): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`${name} "${text}" is not a whole number`, {
      hint: `pass ${name} ${AZ_COUNT.min} to ${AZ_COUNT.max}, e.g. ${name} 3`,
    });
  }
  const count = Number(text);
  if (count < AZ_COUNT.min || count > AZ_COUNT.max) {
    throw new UsageError(
      `${name} ${text} is out of range: kboot plans ${AZ_COUNT.min} to ${AZ_COUNT.max} availability zones`,
      {
        hint: `pass ${name} ${AZ_COUNT.min} to ${AZ_COUNT.max} (3 is the usual choice for a highly available control plane)`,
      },
    );
  }
  return count;
}
