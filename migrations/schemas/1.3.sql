-- The schema of a new document of release 1.3 (at 0004_sort_key_integer),
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
	created_at DATETIME NOT NULL, pinned BOOLEAN DEFAULT '0' NOT NULL, 
	CONSTRAINT pk_note PRIMARY KEY (id), 
	CONSTRAINT fk_note_notebook_id_notebook FOREIGN KEY(notebook_id) REFERENCES notebook (id) ON DELETE CASCADE
);

CREATE TABLE note_tag (
	note_id INTEGER NOT NULL, 
	tag_id INTEGER NOT NULL, 
	CONSTRAINT pk_note_tag PRIMARY KEY (note_id, tag_id), 
	CONSTRAINT fk_note_tag_note_id_note FOREIGN KEY(note_id) REFERENCES note (id) ON DELETE CASCADE, 
	CONSTRAINT fk_note_tag_tag_id_tag FOREIGN KEY(tag_id) REFERENCES tag (id) ON DELETE CASCADE
);

CREATE TABLE "notebook" (
	id INTEGER NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	sort_key INTEGER, 
	legacy_sort_key TEXT, 
	CONSTRAINT pk_notebook PRIMARY KEY (id)
);

CREATE TABLE tag (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	CONSTRAINT pk_tag PRIMARY KEY (id), 
	CONSTRAINT uq_tag_name UNIQUE (name)
);

CREATE INDEX ix_note_notebook_id ON note (notebook_id);

CREATE VIEW note_summary AS
SELECT notebook.title AS notebook_title,
       note.id AS note_id,
       note.pinned AS pinned,
       note.created_at AS created_at
FROM note JOIN notebook ON notebook.id = note.notebook_id;
