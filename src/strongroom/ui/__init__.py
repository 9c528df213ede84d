"""The web interface under /ui/: server-rendered pages over the same services as the API.

No JavaScript build step: Jinja2 templates, one hand-written stylesheet and two small scripts
(`static/`), shipped in the package. A browser session is a strongroom session held in an
`__Host-` cookie; see `security` for the cookies, CSRF and the headers.
"""
