/** "1 stamp", "3 stamps", "1 point", "250 points". */
export function quantity(n: number, kind: string): string {
  const one = kind.endsWith("s") ? kind.slice(0, -1) : kind;
  return `${n} ${n === 1 ? one : kind}`;
}
