// Type checks a consumer of the installed package under several compiler settings with one TypeScript
// (the one whose package directory is argv[2]), the way `tsc --strict` would with `skipLibCheck: false`,
// but only where it matters: the consumer's file and every declaration file of the package get the full
// check; @types/node and TypeScript's libs are loaded, not checked (that alone takes ~10 s per setting).
// Files are parsed once and shared between the settings.
//
// argv: <typescript package dir> <project dir> <consumer file> <settings JSON: { name: compilerOptions }>
// stdout: JSON { name: { packageFiles, diagnostics: string[] } }
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [tsDir, project, consumer, settingsJson] = process.argv.slice(2);
const ts = createRequire(import.meta.url)(tsDir);
const settings = JSON.parse(settingsJson);
const pkgDir = fs.realpathSync(path.join(project, 'node_modules', 'fdkeeper'));
const format = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => project, getNewLine: () => '\n' };
const parsed = new Map();
const results = {};

for (const [name, json] of Object.entries(settings)) {
  const { options, errors } = ts.convertCompilerOptionsFromJson(
    { ...json, skipLibCheck: false, noEmit: true },
    project,
  );
  const host = ts.createCompilerHost(options, true);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersionOrOptions, ...rest) => {
    const key = `${fileName}\0${JSON.stringify(languageVersionOrOptions)}`;
    if (!parsed.has(key)) parsed.set(key, read(fileName, languageVersionOrOptions, ...rest));
    return parsed.get(key);
  };
  const program = ts.createProgram({ rootNames: [consumer], options, host });
  const mine = program.getSourceFiles().filter((sf) => {
    const real = fs.realpathSync(sf.fileName);
    return real === fs.realpathSync(consumer) || real.startsWith(pkgDir + path.sep);
  });
  const diagnostics = [
    ...errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...mine.flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]),
  ];
  results[name] = {
    packageFiles: mine.length - 1,
    diagnostics: diagnostics.map((d) => ts.formatDiagnostic(d, format).trim()),
  };
}
process.stdout.write(JSON.stringify(results));
