"""Template tags for pages other apps render: the student's lessons with their progress."""

from django import template

from learning import selectors

register = template.Library()


@register.simple_tag
def student_home(student):
    """`{% student_home user as home %}`: home.classrooms and home.next (the lesson to continue)."""
    classrooms, next_row = selectors.student_home(student)
    return {"classrooms": classrooms, "next": next_row}
