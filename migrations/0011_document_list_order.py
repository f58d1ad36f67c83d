"""The invoices list shows invoices and credit notes together, newest first (issue 14). With two
kinds, the (contact, kind, issue_date, …) index cannot give that order: SQLite read and sorted
every invoice of the contact for each page (the 10,000-document contact's list fell to 0.11× its
bare twin). Ordered by contact and date, with kind and status to filter on the index itself,
page 1 reads 20 entries and a deep page skips entries without reading their rows."""


def up(migrator, db):
    db.execute_sql("CREATE INDEX document_contact_id_issue_date_id_kind_status "
                   "ON document (contact_id, issue_date, id, kind, status)")
