"""The rep workspace: server-rendered pages (Jinja2 + htmx) over the same role-checked views as
the JSON API, with signed session cookies, CSRF-checked forms, German and English texts."""
