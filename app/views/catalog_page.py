"""The portal catalog as one contact sees it: their price for each product, its availability,
the add-to-cart form and the product page.

Prices are the contact's own (their discount applied), computed from the database, never read
from a form. The views pass in the URLs (the add form's `next`): nothing here knows routes."""
from .. import orders
from ..models import Category, Product, Settings
from ..web.forms import Form


def product_view(product, contact, settings, taxes, image_id=None):
    """What a product card, the product page and the add form show about one product."""
    price = orders.unit_price(product, contact)
    return {"product": product, "price": price, "price_with_tax": orders.price_with_tax(price, taxes),
            "taxes": taxes, "av": orders.availability(product, settings), "image_id": image_id,
            "currency": product.currency}


def add_form_context(item, next_url, form=None, added=None):
    """The add-to-cart form (_product_add.html) of one product: for the card, the product page
    and the answer to an HTMX add."""
    return {"item": item, "add_form": form or Form(values={"quantity": "1"}), "added": added,
            "next_url": next_url}


def add_form_of(product, contact, next_url, form=None, added=None):
    """add_form_context for one product looked up on its own (the answer to an add)."""
    item = product_view(product, contact, Settings.get_solo(), Product.tax_rates_of([product.id])[product.id])
    return add_form_context(item, next_url, form, added)


def trail(category, by_id):
    """The category and its ancestors, root first (stops at a cycle written by hand); `by_id`:
    every category by id (Category.every()), so that no ancestor costs a query."""
    found, seen = [], set()
    while category is not None and category.id not in seen:
        seen.add(category.id)
        found.insert(0, category)
        category = by_id.get(category.parent_id) if category.parent_id else None
    return found


def product_page_context(product, contact, next_url, form=None):
    """The product page, with its add form showing `form`'s values and errors."""
    settings = Settings.get_solo()
    images = [image.id for image in product.image_list()]
    item = product_view(product, contact, settings, Product.tax_rates_of([product.id])[product.id],
                        images[0] if images else None)
    by_id = {row.id: row for row in Category.every()} if product.category_id else {}
    return {"images": images, "trail": trail(by_id.get(product.category_id), by_id),
            "stock_display": settings.stock_display, "discount_bp": contact.discount_bp,
            **add_form_context(item, next_url, form)}
