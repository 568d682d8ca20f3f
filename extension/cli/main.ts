// repo-diffusion command line: placeholder until the subcommands land.
console.error('repo-diffusion: no subcommands yet');
process.exit(2);
