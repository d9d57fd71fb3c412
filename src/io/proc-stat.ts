// The fields of /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold
// spaces and ')', so the line is cut at the last ')'; what follows is space-separated.

/** Fields 3 onwards of a /proc/<pid>/stat line (field n is at index n - 3); undefined when it has no ')'. */
export function statFieldsFrom3(text: string): string[] | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  return text.slice(close + 2).split(' ');
}
