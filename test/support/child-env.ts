/**
 * The environment for a child process that runs plain JavaScript (dist/): the parent's, without the test
 * runner's `--import tsx` (the child does not need it, and cannot resolve it from another directory).
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const nodeOptions = (process.env['NODE_OPTIONS'] ?? '').replace(/--import[= ]tsx\b/g, '').trim();
  return { ...process.env, NODE_OPTIONS: nodeOptions, ...extra };
}
