// SPDX-License-Identifier: GPL-2.0
/*
 * A program that maps many shared libraries and does nothing: linked
 * --no-as-needed against govgate's own libraries (and theirs), so each
 * exec maps a dozen or more of them, as an interpreter start-up would
 * (bench/exec-identity.sh: the executable-mapping check).
 */
int main(void)
{
	return 0;
}
