/**
 * Completion scripts. Each is a thin shim that asks the binary (`kboot __complete`) for
 * candidates, so the scripts never go stale and cover every command and flag the binary has.
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const BASH = `# bash completion for kboot; load with: source <(kboot completion bash)
_kboot_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local IFS=$'\\n'
  local candidates
  candidates=$("\${COMP_WORDS[0]}" __complete bash -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -o default -F _kboot_complete kboot
`;

const ZSH = `#compdef kboot
# zsh completion for kboot; install into a directory of $fpath as _kboot, or: source <(kboot completion zsh)
_kboot() {
  local -a candidates
  local line
  for line in "\${(@f)$("\${words[1]}" __complete zsh -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}"; do
    [[ -n "$line" ]] && candidates+=("\${line/$'\\t'/:}")
  done
  (( \${#candidates} )) && _describe -t commands 'kboot' candidates
}
if [[ "\${funcstack[1]}" == "_kboot" ]]; then
  _kboot "$@"
else
  compdef _kboot kboot
fi
`;

const FISH = `# fish completion for kboot; install as ~/.config/fish/completions/kboot.fish
function __kboot_complete
    set -l tokens (commandline -opc) (commandline -ct)
    $tokens[1] __complete fish -- $tokens[2..-1] 2>/dev/null
end
complete -c kboot -f -a '(__kboot_complete)'
`;

export function renderCompletionScript(shell: Shell): string {
  switch (shell) {
    case 'bash':
      return BASH;
    case 'zsh':
      return ZSH;
    case 'fish':
      return FISH;
  }
}

/** The lines `__complete` prints: fish and zsh take "value<TAB>description", bash only the value. */
export function formatCandidates(
  shell: string,
  candidates: readonly { value: string; description: string }[],
): string {
  return candidates
    .map((c) =>
      shell === 'bash' || c.description === ''
        ? c.value
        : `${c.value}\t${c.description.replace(/[\t\n]/g, ' ')}`,
    )
    .join('\n');
}
