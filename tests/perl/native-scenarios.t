#!/usr/bin/perl
# Every golden scenario (tests/scenarios/<case>/) once more through the XS module: the command
# and arguments of its `cmd` file as a PVE::Balancer::Native call on the snapshot read as Perl
# data (decode_json, as the PVE API hands it over), and the answer must equal the reviewed
# expected.json (as data). DESIGN.md §8: scenarios run through the CLI and through XS.
use strict;
use warnings;
use Test::More;
use JSON ();

use PVE::Balancer::Native;

my $root = 'tests/scenarios';
my $json = JSON->new->utf8;

opendir(my $dh, $root) or die "cannot read $root: $!\n";
my @cases = sort grep { !/^[._]/ && -d "$root/$_" } readdir($dh);
closedir($dh);
cmp_ok(scalar(@cases), '>=', 25, 'at least 25 scenarios');

sub slurp {
    my ($path) = @_;
    open(my $fh, '<:raw', $path) or die "cannot read $path: $!\n";
    local $/;
    my $text = <$fh>;
    close($fh);
    return $text;
}

# "evacuate --node pve1 --all-guests" -> ('evacuate', node => 'pve1', 'all-guests' => 1)
sub parse_cmd {
    my ($line) = @_;
    my ($command, @words) = split(/\s+/, $line);
    my @args;
    while (@words) {
        my $flag = shift(@words);
        die "unexpected word '$flag' in cmd\n" if $flag !~ m/^--([a-z][a-z0-9\-]*)$/;
        my $key = $1;
        my $value = @words && $words[0] !~ m/^--/ ? shift(@words) : 1;
        push @args, $key => $value;
    }
    return ($command, @args);
}

for my $case (@cases) {
    my $dir = "$root/$case";
    next if !-f "$dir/expected.json";
    my $cmd = slurp("$dir/cmd");
    chomp($cmd);
    my ($command, @args) = parse_cmd($cmd);
    my $snapshot = $json->decode(slurp("$dir/snapshot.json"));
    my $expected = $json->decode(slurp("$dir/expected.json"));
    my $got = eval { PVE::Balancer::Native::execute($command, $snapshot, @args) };
    if (my $err = $@) {
        fail("$case: $cmd");
        diag("died: $err");
        next;
    }
    is_deeply($got, $expected, "$case: $cmd (XS equals the reviewed CLI answer)");
}

done_testing();
