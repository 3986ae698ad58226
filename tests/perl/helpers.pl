# Helpers for the Perl tests of PVE::Balancer::Native and the HA scheduler.
# Run from the repository root with PERL5LIB=perl/build/lib:perl/build/arch:. (tests/run-checks).
use strict;
use warnings;

use JSON ();

# the JSON backend of every Proxmox VE node
die "JSON.pm uses " . JSON->backend . ", not JSON::XS: install libjson-xs-perl (make deps)\n"
    if JSON->backend ne 'JSON::Backend::XS';

our $CLI = $ENV{PVEBAL_CLI} // 'build/pve-balancer';

sub slurp {
    my ($path) = @_;
    open(my $fh, '<:raw', $path) or die "cannot read $path: $!\n";
    local $/;
    return <$fh>;
}

# The CLI's answer (--output-format json), decoded; dies with its stderr on failure.
sub cli_json {
    my ($command, $snapshot_file, @flags) = @_;
    my @cmd = ($CLI, $command, '--snapshot', $snapshot_file, '--output-format', 'json', @flags);
    my $cmd = join(' ', map { quotemeta } @cmd);
    my $out = `$cmd 2>&1`;
    die "@cmd failed: $out" if $?;
    return JSON->new->utf8->decode($out);
}

# $@ of a call, or '' when it did not die.
sub error_of {
    my ($code) = @_;
    eval { $code->(); };
    return $@ // '';
}

1;
