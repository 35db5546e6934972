namespace Berth.Serve.Storage;

/// <summary>
/// The schema, as numbered steps applied in order on start (each in its own transaction, recorded in
/// schema_version). A step is never edited once released: a change is a new step. `{id}` and
/// `{blob}` are the two words the dialects spell differently.
/// </summary>
public static class Migrations
{
    public static readonly (int Version, string[] Sql)[] Steps =
    {
        (1, new[]
        {
            "CREATE TABLE jobs (seq {id}, id TEXT NOT NULL UNIQUE, image TEXT NOT NULL, status TEXT NOT NULL, digest TEXT, db_version TEXT, error TEXT, " +
                "attempts INTEGER NOT NULL DEFAULT 0, subject TEXT NOT NULL, created BIGINT NOT NULL, started BIGINT, finished BIGINT, cached INTEGER NOT NULL DEFAULT 0)",
            "CREATE INDEX jobs_status ON jobs (status, seq)",
            "CREATE INDEX jobs_digest ON jobs (digest)",
            "CREATE INDEX jobs_image ON jobs (image)",
            "CREATE TABLE findings (digest TEXT NOT NULL, db_version TEXT NOT NULL, data {blob} NOT NULL, created BIGINT NOT NULL, PRIMARY KEY (digest, db_version))",
            "CREATE TABLE decisions (seq {id}, id TEXT NOT NULL UNIQUE, image TEXT NOT NULL, digest TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, " +
                "outcome TEXT NOT NULL, reasons TEXT NOT NULL, policy_hash TEXT NOT NULL, subject TEXT NOT NULL, at BIGINT NOT NULL)",
            "CREATE INDEX decisions_digest ON decisions (digest, target, policy_hash)",
            "CREATE TABLE vex (seq {id}, id TEXT NOT NULL UNIQUE, image TEXT NOT NULL, digest TEXT NOT NULL, statement {blob} NOT NULL, signature {blob}, subject TEXT NOT NULL, at BIGINT NOT NULL)",
            "CREATE INDEX vex_digest ON vex (digest)",
            "CREATE TABLE audit (seq {id}, at BIGINT NOT NULL, subject TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL, image TEXT NOT NULL, digest TEXT NOT NULL, " +
                "outcome TEXT NOT NULL, detail TEXT NOT NULL)",
            "CREATE INDEX audit_image ON audit (image)",
            "CREATE INDEX audit_digest ON audit (digest)",
        }),
    };

    public static int Latest => Steps[^1].Version;
}
