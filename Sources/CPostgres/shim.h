// libpq, PostgreSQL's C client (Debian: libpq-dev, pkg-config libpq): the shared journal.
#include <libpq-fe.h>
