"""Web plumbing shared by the pages and the API: htmx, forms, security, rate limits, errors, i18n, labels."""
