import { InvalidArgumentError } from 'commander';

/**
 * Parses the `<pid>` argument of `inspect` and `watch`: a positive integer. `self` is refused on
 * purpose: it would name the fdkeeper process itself (its Node runtime's epoll, eventfd and pipes),
 * never the program one meant to look at.
 */
export function parsePid(text: string): number {
  if (/^[1-9]\d*$/.test(text)) {
    const pid = Number(text);
    if (Number.isSafeInteger(pid) && pid <= 0x3fffffff) return pid;
  }
  if (text === 'self') {
    throw new InvalidArgumentError(
      "'self' would be fdkeeper's own process; give the pid of the program to look at ($$ for this shell, $(pgrep -n node) for the newest node)",
    );
  }
  throw new InvalidArgumentError(`'${text}' is not a process id (a positive integer)`);
}
