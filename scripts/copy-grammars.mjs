// placeholder: copies grammar .wasm files named in grammars/manifest.json into dist/grammars.
