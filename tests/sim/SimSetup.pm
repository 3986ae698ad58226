package SimSetup;

# @INC for the simulator tests: this repository's PVE/ modules, the XS module built in
# perl/build (make perl), and tests/perl/lib/pve-doubles for the Proxmox modules that
# PVE::Balancer::* load at compile time (PVE::Cluster, PVE::INotify, PVE::Exception, ...). The
# simulator never calls them: every impure call goes to PVE::Balancer::Sim::Env. JSON.pm must use
# JSON::XS, as on a node.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);

our $root;

BEGIN {
    $root = abs_path(dirname(__FILE__) . '/../..');
    unshift @INC, "$root/perl/build/lib", "$root/perl/build/arch", $root,
        "$root/tests/perl/lib/pve-doubles";
    die "perl/build/lib/PVE/Balancer/Native.pm not built: run 'make perl'\n"
        if !-f "$root/perl/build/lib/PVE/Balancer/Native.pm";
    require JSON;
    die "JSON.pm uses " . JSON->backend . ", not JSON::XS: install libjson-xs-perl (make deps)\n"
        if JSON->backend ne 'JSON::Backend::XS';
}

use PVE::Balancer::Sim::TestHardware;

# Runs the test in $dir; returns (ok, message, log text). Writes the log to $outdir/NAME.log.
# A missing log.expect is written from this run ($bootstrap) or is a failure.
sub run_test {
    my ($dir, $outdir, %opts) = @_;

    (my $name = $dir) =~ s!.*/!!;
    my $lines = eval { PVE::Balancer::Sim::TestHardware->new($dir)->run() };
    if (my $err = $@) {
        return (0, "$name: the simulation died: $err", '');
    }
    my $log = join("\n", @$lines) . "\n";
    mkdir $outdir if !-d $outdir;
    open(my $fh, '>', "$outdir/$name.log") or die "cannot write $outdir/$name.log: $!\n";
    print $fh $log;
    close($fh);

    my $expect_file = "$dir/log.expect";
    if (!-f $expect_file) {
        return (0, "$name: no log.expect (run tests/sim/run-tests $dir to write one, then review"
            . " it)", $log) if !$opts{bootstrap};
        open(my $out, '>', $expect_file) or die "cannot write $expect_file: $!\n";
        print $out $log;
        close($out);
        return (1, "$name: log.expect written from this run - review it", $log);
    }
    open(my $in, '<', $expect_file) or die "cannot read $expect_file: $!\n";
    my $expect = do { local $/; <$in> };
    close($in);
    return (1, "$name: ok", $log) if $expect eq $log;
    my $diff = `diff -u '$expect_file' '$outdir/$name.log'`;
    return (0, "$name: the log differs from log.expect:\n$diff", $log);
}

1;
