// placeholder: the tree-sitter parse worker lands with the corpus indexer.
export {};
