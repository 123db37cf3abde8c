// torn-write with fdkeeper: atomicWriteSync (temp file + rename) for every version.
import { libraryModule } from './report.js';
import { writeVersions } from './torn.js';

const { atomicWriteSync } = (await import(libraryModule('index.js'))) as typeof import('../../../index.js');

writeVersions((path, text) => {
  atomicWriteSync(path, text, { durability: 'none' }); // temp file + rename
});
