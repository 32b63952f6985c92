"""The lessons (guided presets for a class), the glossary, and the homework page a lesson exports."""

from explorer.frontdoor import lazy

# What the pages may use, and the module each name comes from (explorer/frontdoor.py).
OFFERS = {
    "INTERPOLATE": "catalogue", "INTERPOLATE_TABS": "catalogue", "LESSONS": "catalogue",
    "VIEW_KEYS": "catalogue",
    "help": "glossary",
    "homework_unavailable": "homework:unavailable", "homework_zip": "homework:bundle_zip",
    "lesson_json": "lesson_file:to_json", "LessonFileError": "lesson_file",
    "MAX_BYTES": "lesson_file", "MAX_MINUTES": "lesson_file", "MAX_PROMPT": "lesson_file",
    "MAX_STEPS": "lesson_file", "MAX_TAG": "lesson_file", "MAX_TAGS": "lesson_file",
    "MAX_TITLE": "lesson_file", "read_lesson": "lesson_file:read", "slug_of": "lesson_file",
    "all_tags": "steps", "keys_to_reset": "steps", "Lesson": "steps", "query_params": "steps",
    "Question": "steps", "search_lessons": "steps:search", "SIDEBAR_ONLY": "steps",
    "Step": "steps",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
