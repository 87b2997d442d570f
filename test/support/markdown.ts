/**
 * Just enough Markdown for the docs tests: the headings of a page with their GitHub anchors, its
 * relative links, and one section's text. Fenced code blocks are skipped (a `#` comment in a
 * shell block is not a heading, a `[x](y)` in YAML is not a link), and so are inline code spans.
 * Anchors are made by github-slugger, the implementation of GitHub's own heading ids, including
 * the `-1`, `-2` suffixes of repeated headings.
 */

import GithubSlugger from 'github-slugger';

export interface MarkdownLink {
  /** 1-based line of the link in its file. */
  line: number;
  /** The target as written: `path`, `path#anchor` or `#anchor`. */
  target: string;
}

export interface MarkdownHeading {
  line: number;
  level: number;
  /** The heading as GitHub renders it: inline code, emphasis and link syntax removed. */
  text: string;
  /** Its anchor on GitHub (without `#`). */
  slug: string;
}

/** The lines of a page outside fenced code blocks, as [1-based line number, text]. */
function proseLines(markdown: string): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, index) => {
    const opener = /^ {0,3}(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence === undefined && opener !== undefined) {
      fence = opener;
      return;
    }
    if (fence !== undefined) {
      if (text.trim().startsWith(fence)) fence = undefined;
      return;
    }
    out.push([index + 1, text]);
  });
  return out;
}

/** A heading's text as GitHub renders it, the input of its slug. */
function renderedText(raw: string): string {
  return raw
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .replace(/\*\*|__/g, '')
    .trim();
}

export function headings(markdown: string): MarkdownHeading[] {
  const slugger = new GithubSlugger();
  const out: MarkdownHeading[] = [];
  for (const [line, text] of proseLines(markdown)) {
    const match = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/.exec(text);
    if (match === null) continue;
    const [, hashes = '', raw = ''] = match;
    const rendered = renderedText(raw);
    out.push({ line, level: hashes.length, text: rendered, slug: slugger.slug(rendered) });
  }
  return out;
}

/** Every inline link and image of a page whose target is not a URL with a scheme. */
export function relativeLinks(markdown: string): MarkdownLink[] {
  const out: MarkdownLink[] = [];
  for (const [line, text] of proseLines(markdown)) {
    const prose = text.replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length));
    for (const match of prose.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1] ?? '';
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      out.push({ line, target });
    }
  }
  return out;
}

/**
 * The text under the heading `title` (any level), up to the next heading of the same or a higher
 * level; undefined when the page has no such heading.
 */
export function section(markdown: string, title: string): string | undefined {
  const all = headings(markdown);
  const start = all.find((h) => h.text === title);
  if (start === undefined) return undefined;
  const end = all.find((h) => h.line > start.line && h.level <= start.level);
  const lines = markdown.split('\n');
  return lines.slice(start.line, end === undefined ? lines.length : end.line - 1).join('\n');
}
