#!/usr/bin/env node
// The `batchlab` command: runs the compiled CLI (bin/batchlab.ts, built to dist/bin/).
import('../dist/bin/batchlab.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bin/batchlab.js')) {
    console.error('batchlab: the CLI is not built yet; run `npm run build` in the batchlab folder');
    process.exit(1);
  }
  throw err;
});
