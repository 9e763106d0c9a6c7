# Sourced by the official mongo image's entrypoint on the FIRST start only (empty data volume),
# against a temporary server without access control. Creates the user every Jalin process
# connects as (MONGO_APP_USERNAME / MONGO_APP_PASSWORD from .env): it may read and write, and
# create indexes and drop databases (read-model rebuilds), but cannot manage users or the cluster.
# The root user (MONGO_ROOT_USERNAME) is for operators only (backups, rs.status()).
"${mongo[@]}" admin --eval '
  db.createUser({
    user: process.env.MONGO_APP_USERNAME,
    pwd: process.env.MONGO_APP_PASSWORD,
    roles: [{ role: "readWriteAnyDatabase", db: "admin" }, { role: "dbAdminAnyDatabase", db: "admin" }]
  })'
