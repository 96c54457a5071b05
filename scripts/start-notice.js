// The first line of `npm start`: the build before the demo takes about 40 s on a first run and prints nothing
// (tsc is silent), so say what is happening before it starts.
"use strict";
process.stdout.write("npm start: building the package (TypeScript; about 40 s on a first run, less after) ...\n");
