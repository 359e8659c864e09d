"""The pipeline format: its one definition (``format``), YAML reading with line numbers
(``yamlio``) and the template language (``templates``)."""
