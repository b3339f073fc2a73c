// danfojs-node loads xlsx for readExcel/toExcel only. batchlab reads CSV and JSON and
// never spreadsheets, so every entry point refuses with a message naming the reason.
'use strict';
function refuse() {
  throw new Error('batchlab: spreadsheet I/O is not available (the xlsx dependency of danfojs-node is shimmed out; see shims/xlsx)');
}
module.exports = { read: refuse, readFile: refuse, writeFile: refuse, utils: new Proxy({}, { get: () => refuse }) };
