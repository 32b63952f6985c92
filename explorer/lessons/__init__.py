"""The lessons (guided presets for a class), the glossary, and the homework page a lesson exports."""
