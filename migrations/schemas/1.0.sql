-- The schema of a new document of release 1.0 (at 0001_initial),
-- recorded by `frozen-alembic release`.  Do not edit.

CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE note (
	id INTEGER NOT NULL, 
	notebook_id INTEGER NOT NULL, 
	author_name VARCHAR(200) NOT NULL, 
	body TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_note PRIMARY KEY (id), 
	CONSTRAINT fk_note_notebook_id_notebook FOREIGN KEY(notebook_id) REFERENCES notebook (id) ON DELETE CASCADE
);

CREATE TABLE notebook (
	id INTEGER NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	sort_key TEXT, 
	CONSTRAINT pk_notebook PRIMARY KEY (id)
);
