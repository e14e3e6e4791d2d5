/* The one thing a record owns: a checkpoint's four arrays. */
#include <stdlib.h>

#include "record.h"

void hist_checkpoint_free(struct hist_checkpoint *cp)
{
	if (!cp)
		return;
	free(cp->vpns);
	free(cp->pes);
	free(cp->cgpes);
	free(cp->flows);
	free(cp);
}
