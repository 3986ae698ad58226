#!/usr/bin/perl
# The snapshot size limit (docs/reliability.md): a larger input on stdin or in a file is refused
# with one line naming the limit, exit 2, after reading at most one byte more than the limit.
use strict;
use warnings;
use Test::More;
require './tests/cli/lib.pl';

our $CLI;
my $limit = 256 * 1024 * 1024;
# an endless stdin: the CLI stops reading at the limit (yes never ends on its own)
my $err = `yes '[' 2>/dev/null | $CLI score --snapshot - 2>&1 >/dev/null`;
is($? >> 8, 2, 'endless stdin: exit 2');
is($err, "pve-balancer: snapshot: larger than the input limit of 256 MiB (got "
    . ($limit + 1) . " bytes)\n", '... one line naming the limit');

# a sparse file of limit + 1 bytes
my $file = "tests/out/limits-big.json";
mkdir 'tests/out';
open(my $fh, '>', $file) or die "cannot write $file: $!\n";
truncate($fh, $limit + 1) or die "cannot size $file: $!\n";
close($fh);
my ($rc, $out, $stderr) = run_cli(['plan', '--snapshot', $file]);
unlink($file);
is($rc, 2, 'file over the limit: exit 2');
is($out, '', '... nothing on stdout');
like($stderr, qr/^pve-balancer: snapshot: larger than the input limit of 256 MiB/,
    '... naming the limit');

done_testing();
