"""The web app (FastAPI): CMS webhook and WebSub callback today; unsubscribe, sign-up and editor pages
are further routers mounted by :func:`distro.web.app.create_web_app`."""
