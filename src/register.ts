/**
 * Zero-code descriptor leak tracking: `node --import fdkeeper/register app.js`.
 *
 * Every descriptor the app opens through node:fs is recorded with its open site; whatever is still
 * open is reported at exit, on SIGUSR2 and to `fdkeeper report <pid>`, in the form `FDKEEPER_REPORT`
 * chooses (`exit`, `json`, `html:<file>`, `off`). See docs/cli.md. For tracking in code (a test that
 * asserts nothing leaked), use `trackNodeFs()` from `fdkeeper` instead.
 *
 * @packageDocumentation
 */
import { installRegisterHook } from './register/install.js';

installRegisterHook();
