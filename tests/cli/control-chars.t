#!/usr/bin/perl
# Control characters and terminal escapes in names, locks, tags and rule ids never reach the
# terminal raw in text output (shown escaped: \x1b, \n, \u009b), and error lines quoting such
# input stay one escaped line. JSON output keeps the exact strings (the JSON writer escapes).
use strict;
use warnings;
use Test::More;
use JSON;
require './tests/cli/lib.pl';

my $esc = "\x1b[2J\x1b[31m";
my $csi = "\x{9b}31m"; # U+009B, a one-byte CSI to some terminals
my $nl = "fake\nline";
my $snap = {
    resources => [
        { type => 'node', node => "n1$esc", status => 'online', maxcpu => 8, maxmem => 17179869184,
          cpu => 0.9, mem => 15032385536 },
        { type => 'node', node => "n2$nl", status => 'online', maxcpu => 8, maxmem => 17179869184,
          cpu => 0.05, mem => 1073741824 },
        { type => 'node', node => "n3$csi", status => 'online', maxcpu => 8, maxmem => 17179869184,
          cpu => 0.05, mem => 1073741824 },
        map({ { type => 'qemu', vmid => 0 + $_, name => "g$_$esc$nl", node => "n1$esc",
          status => 'running', maxcpu => 2, maxmem => 4294967296, cpu => 0.9, mem => 3221225472,
          tags => "plb_pin_x$esc", ($_ == 102 ? (lock => "backup$esc$nl") : ()) } } 100 .. 102),
    ],
};
my $json = JSON->new->utf8->canonical->encode($snap);
my ($fh, $file) = File::Temp::tempfile(UNLINK => 1, SUFFIX => '.json');
binmode($fh);
print $fh $json;
close($fh);

my @runs = (
    ['score'], ['plan'], ['evacuate', '--node', "n1$esc"], ['failover', '--failed-node', "n1$esc"],
    ['capacity'], ['place', '--cpu', '1', '--mem', '1G'],
);
for my $args (@runs) {
    my ($rc, $out, $err) = run_cli([@$args, '--snapshot', $file, '--output-format', 'text']);
    my $what = $args->[0];
    is($rc, 0, "$what: exit 0") or diag($err);
    unlike($out, qr/[\x00-\x08\x0b-\x1f\x7f]/, "$what: no raw control character in text output");
    unlike($out, qr/\xc2[\x80-\x9f]/, "$what: no raw C1 control (UTF-8) in text output");
    unlike($out, qr/^line/m, "$what: a newline in a name does not start a line");
    like($out, qr/n1\\x1b\[2J\\x1b\[31m/, "$what: the node name shown escaped");
}
my ($rc, $out) = run_cli(['score', '--snapshot', $file, '--output-format', 'text']);
like($out, qr/fake\\nline/, 'score: a newline is shown as \n');
like($out, qr/n3\\u009b31m/, 'score: a C1 control is shown as \u009b');
($rc, $out) = run_cli(['plan', '--snapshot', $file, '--output-format', 'text']);
like($out, qr/g100\\x1b\[2J\\x1b\[31mfake\\nline/, 'plan: a guest name shown escaped');

# JSON output: the exact strings, JSON-escaped
($rc, $out) = run_cli(['score', '--snapshot', $file, '--output-format', 'json']);
is($rc, 0, 'score json: exit 0');
my $score = JSON->new->utf8->decode($out);
is($score->{nodes}[0]{node}, "n1$esc", 'json: the node name is exact');
unlike($out, qr/\x1b/, 'json: no raw ESC');

# errors quoting the input: one escaped line on stderr
my $err;
($rc, $out, $err) = run_cli(['evacuate', '--snapshot', $file, '--node', "nope$esc$nl"]);
is($rc, 2, 'unknown node: exit 2');
unlike($err, qr/\x1b/, 'error: no raw ESC');
is(scalar(() = $err =~ /\n/g), 1, 'error: one line');
like($err, qr/unknown node "nope\\x1b\[2J\\x1b\[31mfake"/, "error: the name shown escaped (a newline separates list entries)");

done_testing();
