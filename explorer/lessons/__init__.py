"""The lessons (guided presets for a class), the glossary, and the homework page a lesson exports."""

from explorer.frontdoor import lazy

# What the pages may use: each module, and the names offered from it (explorer/frontdoor.py).
OFFERS = {
    "catalogue": "INTERPOLATE INTERPOLATE_TABS LESSONS VIEW_KEYS",
    "glossary": "help",
    "homework": "homework_unavailable=unavailable homework_zip=bundle_zip",
    "lesson_file": "lesson_json=to_json LessonFileError MAX_BYTES MAX_MINUTES MAX_PROMPT "
                   "MAX_STEPS MAX_TAG MAX_TAGS MAX_TITLE read_lesson=read slug_of",
    "steps": "all_tags keys_to_reset Lesson query_params Question search_lessons=search "
             "SIDEBAR_ONLY Step",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
