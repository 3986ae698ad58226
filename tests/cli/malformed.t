#!/usr/bin/perl
# Every malformed snapshot exits 2 with one clear line naming the field, and prints nothing on
# stdout (no partial output). Run under the sanitizer build too (see tests/run-checks).
use strict;
use warnings;
use Test::More;
require './tests/cli/lib.pl';

open(my $fh, '<', 'tests/malformed/expected.tsv') or die "cannot read expected.tsv: $!\n";
my $count = 0;
while (my $line = <$fh>) {
    chomp $line;
    next if $line =~ /^#/ || $line eq '';
    my ($file, $expected) = split(/\t/, $line, 2);
    for my $cmd (qw(score)) {
        my ($rc, $out, $err, $status) = run_cli([$cmd, '--snapshot', "tests/malformed/$file"]);
        is($rc, 2, "$file: exit code 2") or diag("stderr: $err");
        is($status & 127, 0, "$file: no signal (crash)");
        is($out, '', "$file: nothing on stdout");
        like($err, qr/^\Qpve-balancer: $expected\E/, "$file: message names the field");
        is(scalar(() = $err =~ /\n/g), 1, "$file: exactly one line") or diag($err);
    }
    $count++;
}
cmp_ok($count, '>=', 20, 'at least 20 malformed snapshots');
done_testing();
