/**
 * An IPv4 network in CIDR notation: an aligned block of 2^(32 - prefix) addresses. Immutable,
 * always a network address (host bits clear); built only by `parseCidr` or `Ipv4Cidr.of`.
 * ip-num validates and reads what users type (parse.ts) and prints ranges and addresses; the
 * bounds are plain bigints kept here, because asking ip-num for a range's first address goes
 * through binary strings (about 65 µs a call: one plan took 20 ms and the property tests half a
 * minute before this type kept its own bounds).
 */

import { IPv4, IPv4CidrRange, IPv4Prefix } from 'ip-num';
import { InternalError } from '../../core/errors.js';

const ADDRESS_COUNT = 2n ** 32n;

export class Ipv4Cidr {
  /** The last (broadcast) address as a number. */
  readonly last: bigint;

  private constructor(
    /** The network address as a number. */
    readonly network: bigint,
    readonly prefix: number,
    private readonly range: IPv4CidrRange,
  ) {
    this.last = network + 2n ** BigInt(32 - prefix) - 1n;
  }

  /** The block of `prefix` bits starting at `network`, which must be aligned to it. */
  static of(network: bigint, prefix: number): Ipv4Cidr {
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32 || network < 0n || network >= ADDRESS_COUNT) {
      throw new InternalError(`no IPv4 network ${network}/${prefix}`);
    }
    if (network % 2n ** BigInt(32 - prefix) !== 0n) {
      throw new InternalError(`${IPv4.fromNumber(network).toString()}/${prefix} is not a network address`);
    }
    const range = new IPv4CidrRange(IPv4.fromNumber(network), IPv4Prefix.fromNumber(BigInt(prefix)));
    return new Ipv4Cidr(network, prefix, range);
  }

  /** The number of addresses in the block. */
  get size(): bigint {
    return this.last - this.network + 1n;
  }

  /** The dotted address `offset` addresses after the network address (0 is the network itself). */
  addressAt(offset: bigint): string {
    if (offset < 0n || offset >= this.size) {
      throw new InternalError(`offset ${offset} is outside ${this.toString()}`);
    }
    return IPv4.fromNumber(this.network + offset).toString();
  }

  /** Whether the two blocks share at least one address. */
  overlaps(other: Ipv4Cidr): boolean {
    return this.network <= other.last && other.network <= this.last;
  }

  /** Whether every address of `other` lies in this block (a block contains itself). */
  contains(other: Ipv4Cidr): boolean {
    return this.network <= other.network && other.last <= this.last;
  }

  equals(other: Ipv4Cidr): boolean {
    return this.network === other.network && this.prefix === other.prefix;
  }

  /** The two blocks of prefix + 1 that make up this one; a /32 cannot be split. */
  halves(): [Ipv4Cidr, Ipv4Cidr] {
    if (this.prefix === 32) throw new InternalError(`cannot split ${this.toString()}`);
    return [
      Ipv4Cidr.of(this.network, this.prefix + 1),
      Ipv4Cidr.of(this.network + this.size / 2n, this.prefix + 1),
    ];
  }

  toString(): string {
    return this.range.toCidrString();
  }

  toJSON(): string {
    return this.toString();
  }
}
