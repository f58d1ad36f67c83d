"""Back-office categories: a tree (each category may have a parent), ordered by position."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...db import db
from ...web.forms import Form
from ...models import Category
from . import staff_blueprint
from .fields import read_category

bp = staff_blueprint("categories", "/catalog/categories")


class WouldCycle(Exception):
    """The new parent is the category itself or one of its descendants."""


def get_category(category_id):
    category = Category.get_or_none(Category.id == category_id)
    if category is None:
        abort(404)
    return category


def index_page(form=None, status=200):
    return render_template("staff/catalog/categories.html", tree=Category.tree(),
                           counts=Category.product_counts(), form=form or Form()), status


def edit_page(category, form, status=200):
    # The parent menu leaves out the category's own subtree; the server checks again anyway.
    own = category.subtree_ids()
    parents = [(row, depth) for row, depth in Category.tree() if row.id not in own]
    return render_template("staff/catalog/category_form.html", category=category, form=form,
                           parents=parents), status


@bp.get("/")
def index():
    """Show the category tree, with the form to add one."""
    return index_page()


@bp.post("/")
def create():
    """Add a category, last among its siblings."""
    form = Form(request.form)
    name = form.text("name", required=True, max_length=120)
    parent = read_category(form, "parent")
    if not form.ok:
        return index_page(form, 422)
    with db.atomic():
        Category.create(name=name, parent=parent, position=Category.next_position(parent))
    flash(_("Category %(name)s added.", name=name), "success")
    return redirect(url_for(".index"), 303)


@bp.get("/<int:category_id>/edit")
def edit(category_id):
    """Show the form to rename, move or reorder a category."""
    category = get_category(category_id)
    return edit_page(category, Form(values={"name": category.name, "parent": category.parent_id or "",
                                            "position": str(category.position)}))


@bp.post("/<int:category_id>/edit")
def update(category_id):
    """Rename, move or reorder a category; it cannot move under itself or its descendants."""
    category = get_category(category_id)
    form = Form(request.form)
    name = form.text("name", required=True, max_length=120)
    parent = read_category(form, "parent")
    position = form.integer("position", minimum=0, maximum=1_000_000)
    if form.ok:
        try:
            with db.atomic():
                Category.lock_all()
                # Checked inside the lock: two moves at once cannot close a loop between them.
                if not category.can_move_under(parent):
                    raise WouldCycle()
                Category.update(name=name, parent=parent, position=position).where(
                    Category.id == category.id).execute()
        except WouldCycle:
            form.error("parent", _("A category cannot be moved inside itself or one of its subcategories."))
    if not form.ok:
        return edit_page(category, form, 422)
    flash(_("Changes saved."), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:category_id>/delete")
def delete(category_id):
    """Delete a category: its subcategories move up, its products become uncategorised."""
    category = get_category(category_id)
    category.delete_keeping_contents()
    flash(_("Category %(name)s deleted.", name=category.name), "success")
    return redirect(url_for(".index"), 303)
