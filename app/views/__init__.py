"""The browser side: the portal's pages and fragments, and the back office under staff/."""
