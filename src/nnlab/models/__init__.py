"""Network architectures; a model module holds its whole architecture and never touches files."""
