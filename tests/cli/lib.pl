# Helpers for the CLI tests: run pve-balancer and capture exit code, stdout and stderr.
use strict;
use warnings;

use File::Temp qw(tempfile);
use IPC::Open3;
use Symbol qw(gensym);
use IO::Select;

our $CLI = $ENV{PVEBAL_CLI} // 'build/pve-balancer';
our $SHARED = $ENV{PVEBAL_SHARED} // '../shared';

# run_cli(\@args) -> ($rc, $stdout, $stderr, $raw_status); stdin is empty
sub run_cli {
    my ($args) = @_;
    my $err = gensym;
    my $pid = open3(my $wtr, my $out, $err, $CLI, @$args);
    close($wtr);
    my ($stdout, $stderr) = ('', '');
    # read both pipes without deadlocking on large outputs
    my $sel = IO::Select->new($out, $err);
    while (my @ready = $sel->can_read) {
        for my $fh (@ready) {
            my $n = sysread($fh, my $buf, 65536);
            if (!$n) { $sel->remove($fh); next; }
            if ($fh == $out) { $stdout .= $buf } else { $stderr .= $buf }
        }
    }
    waitpid($pid, 0);
    return ($? >> 8, $stdout, $stderr, $?);
}

# stdin variant that really feeds the file on fd 0
sub run_cli_stdin {
    my ($args, $stdin) = @_;
    my ($fh, $name) = tempfile(UNLINK => 1);
    binmode($fh);
    print $fh $stdin;
    close($fh);
    my $cmd = join(' ', map { quotemeta } $CLI, @$args);
    my ($efh, $ename) = tempfile(UNLINK => 1);
    my $stdout = `$cmd < \Q$name\E 2>\Q$ename\E`;
    my $rc = $? >> 8;
    local $/;
    open(my $e, '<', $ename) or die;
    my $stderr = <$e>;
    return ($rc, $stdout, $stderr);
}

sub slurp {
    my ($path) = @_;
    open(my $fh, '<:raw', $path) or die "cannot read $path: $!\n";
    local $/;
    return <$fh>;
}

1;
