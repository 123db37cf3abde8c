import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileTable } from '../src/table/file-table.js';
test('smoke', () => { const t = new FileTable(); assert.equal(t.size, 0); });
