"""Operations on model dicts (a parsed model yaml): rows and their `from` indices, placement of attention rows,
graph checks, the base of an attention model, and weight transfer across inserted rows."""
