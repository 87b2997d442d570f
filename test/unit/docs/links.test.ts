/**
 * Every relative link in README.md and docs/*.md resolves: the file or directory exists, and an
 * `#anchor` is the GitHub anchor of a heading in the page it points at. Moving a section or
 * renaming a heading then fails here instead of leaving a dead link.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { headings, relativeLinks } from '../../support/markdown.js';
import { repoRoot } from '../../support/paths.js';

const root = repoRoot();

/** README.md and every page under docs/, as paths relative to the repository. */
function pages(): string[] {
  const docs = readdirSync(path.join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => path.join('docs', name));
  return ['README.md', ...docs];
}

/** Why a link from `page` does not resolve, or undefined when it does. */
function brokenLink(page: string, target: string): string | undefined {
  const hash = target.indexOf('#');
  const filePart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file =
    filePart === '' ? path.join(root, page) : path.resolve(path.dirname(path.join(root, page)), filePart);
  if (!file.startsWith(root + path.sep)) return 'points outside the repository';
  if (!existsSync(file)) return `${path.relative(root, file)} does not exist`;
  if (anchor === undefined) return undefined;
  if (!file.endsWith('.md') || statSync(file).isDirectory())
    return 'an anchor into something that is not a page';
  const slugs = headings(readFileSync(file, 'utf8')).map((h) => h.slug);
  if (slugs.includes(anchor)) return undefined;
  return `${path.relative(root, file)} has no heading with anchor #${anchor}`;
}

describe('docs links', () => {
  it('has the pages the README links to', () => {
    assert.ok(pages().includes(path.join('docs', 'README.md')), 'docs/README.md, the index');
  });

  for (const page of pages()) {
    it(`every relative link of ${page} resolves`, () => {
      const links = relativeLinks(readFileSync(path.join(root, page), 'utf8'));
      const broken = links.flatMap((link) => {
        const why = brokenLink(page, link.target);
        return why === undefined ? [] : [`${page}:${link.line}: ${link.target}: ${why}`];
      });
      assert.deepEqual(broken, []);
    });
  }

  it('reads anchors as GitHub makes them', () => {
    const page = [
      '# Creating a cluster: `kboot cluster`',
      '```sh',
      '# not a heading',
      '```',
      "## Getting a cluster's kubeconfig",
      '## Instance metadata (IMDSv2)',
      '## Notes',
      '## Notes',
    ].join('\n');
    assert.deepEqual(
      headings(page).map((h) => h.slug),
      [
        'creating-a-cluster-kboot-cluster',
        'getting-a-clusters-kubeconfig',
        'instance-metadata-imdsv2',
        'notes',
        'notes-1',
      ],
    );
  });

  it('finds links in prose and tables, not in code', () => {
    const page = [
      'See [a](other.md#x) and [`b`](#y).',
      '| [c](dir/) | `[not](a-link.md)` |',
      '```md',
      '[not](either.md)',
      '```',
      '[web](https://example.com/x.md)',
    ].join('\n');
    assert.deepEqual(
      relativeLinks(page).map((l) => `${l.line} ${l.target}`),
      ['1 other.md#x', '1 #y', '2 dir/'],
    );
  });
});
