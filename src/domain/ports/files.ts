/**
 * The files the domain reads and writes, every path as written on an instance
 * ("/etc/kubernetes/admin.conf") and resolved under the filesystem root (`--root`: "/" on an
 * instance, a temp dir in tests). `FsRoot` (the fs adapter, root.ts) implements it.
 */

export interface InstanceFiles {
  /** The absolute path on this machine of a path as written on an instance. */
  resolve(instancePath: string): string;
  /** The file's text, or undefined when it does not exist. */
  readText(instancePath: string): Promise<string | undefined>;
  /** The names in a directory (none when it does not exist). */
  list(instancePath: string): Promise<string[]>;
  exists(instancePath: string): Promise<boolean>;
  /**
   * Writes a file only its owner can read (0600 from the start, atomically); returns its
   * absolute path. Anything secret is written this way.
   */
  writePrivateFile(instancePath: string, content: string): Promise<string>;
  /** Removes a file or directory; nothing when it is not there. */
  remove(instancePath: string): Promise<void>;
}
