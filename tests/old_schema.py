"""Rows written into a database at an older migration, where today's models have columns the
table does not: only the columns the table has are written, with the models' defaults."""


def insert(database, model, **values):
    """Insert a row of `model` into its table as it is in `database`; returns the new id."""
    present = {column.name for column in database.get_columns(model._meta.table_name)}
    row = {}
    for field in model._meta.sorted_fields:
        if field.column_name not in present or field.column_name == "id" and "id" not in values:
            continue
        if field.name in values:
            value = values[field.name]
            value = value.id if hasattr(value, "id") else value
        elif field.default is not None:
            value = field.default() if callable(field.default) else field.default
        else:
            continue
        row[field.column_name] = field.db_value(value) if not hasattr(field, "rel_model") else value
    columns = ", ".join(f'"{name}"' for name in row)
    marks = ", ".join([database.param] * len(row))
    sqlite = database.param == "?"
    cursor = database.execute_sql(f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
                                  + ("" if sqlite else " RETURNING id"), list(row.values()))
    return cursor.lastrowid if sqlite else cursor.fetchone()[0]
